"""The seeds' experiments as studies: the seven networks' table, and the d2l exercise."""
