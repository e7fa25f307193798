import sys
from pathlib import Path

# the hand-built extract builders live beside the tests
sys.path.insert(0, str(Path(__file__).resolve().parent))
