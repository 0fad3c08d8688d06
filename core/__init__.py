"""What every package shares: settings, errors and the offline embedding model."""
