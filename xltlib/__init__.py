"""xltlib."""
