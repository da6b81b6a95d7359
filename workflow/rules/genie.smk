# Placeholder: the genie stage's owner fills this file (see CONTRIBUTING.md).
