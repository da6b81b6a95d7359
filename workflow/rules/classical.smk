# Placeholder: the classical stage's owner fills this file (see CONTRIBUTING.md).
