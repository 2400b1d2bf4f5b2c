"""The AWS side of one stack: clients and error translation (client), watching a stack settle (watch),
change sets and the data guard (changeset). Knows nothing of argparse or of how commands are chosen."""
