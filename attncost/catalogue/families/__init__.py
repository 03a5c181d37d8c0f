"""Family files: one per attention family. Importing them registers their entries."""

from . import channel, selfattention, spatial  # noqa: F401
from . import context  # noqa: F401
from . import branch, nas  # noqa: F401
from . import other  # noqa: F401
from . import baseline  # noqa: F401
from . import transformer  # noqa: F401
