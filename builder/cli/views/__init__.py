"""How the commands show what the operations return: text tables, JSON lines and markdown, from the
frozen data builder.ops and builder.stack hand back. Not a command (a folder, which the command
listing in builder.cli skips); a command imports the view it needs when it runs."""
