"""refjax's executable specification: cases any implementation can run (see spec/README.md)."""
