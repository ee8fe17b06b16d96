"""The customer directory, and each customer's notifications."""
