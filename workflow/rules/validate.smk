# Placeholder: the validate stage's owner fills this file (see CONTRIBUTING.md).
