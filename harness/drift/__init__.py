"""What two environments differ in: every setting of each as a path, the builds they serve, how
they behave, and which differences a profile expects."""
