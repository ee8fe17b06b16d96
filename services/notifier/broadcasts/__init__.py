"""Outage broadcasts: an incident event planned into chunks of customers, each delivered."""
