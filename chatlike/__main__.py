import sys

from chatlike.data import prefetch

prefetch.start(sys.argv[1:])  # before Hydra is even imported (chatlike.data.prefetch)

from chatlike.app import cli  # noqa: E402

cli()
