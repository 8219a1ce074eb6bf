"""The processor chain that turns an engine's raw middle into a suggestion worth showing."""
