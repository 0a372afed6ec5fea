"""The read side: query builders, reports, the submission tracker, charts and framework browsing."""
