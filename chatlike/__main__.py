from chatlike.app import cli

cli()
