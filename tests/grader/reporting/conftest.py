"""The ``course`` fixture of the reporting tests: the class of ``classbook``."""

import pytest
from classbook import build


@pytest.fixture(scope="session")
def class_gradebook(tmp_path_factory):
    """The class's gradebook file, built once."""
    return build(tmp_path_factory.mktemp("template") / "course").db_url.replace("sqlite:///", "")


@pytest.fixture()
def course(tmp_path, class_gradebook):
    """A scratch course whose gradebook holds the class described in ``classbook``."""
    return build(tmp_path / "course", template=class_gradebook)
