"""Third-party extracts: optimal k-anonymous / l-diverse generalization of a table, like ARX."""
