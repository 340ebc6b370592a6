"""`make bench`: how fast regiobot answers, next to a minimal nio echo bot on the same homeserver."""
