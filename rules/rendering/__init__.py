"""Rendering (pure): what the bot writes out — Matrix event contents, HTML pages, iCalendar and CSV
files, PNG charts. Parsing and deciding live beside this package in `rules/`; these modules only
turn decided values into bytes or events."""
