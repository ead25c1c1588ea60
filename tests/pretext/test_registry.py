"""The pretext registry: every name builds, modalities are honoured, unknown names are refused."""

import pytest

from sslcore.errors import DataError
from sslcore.pretext import PRETEXT_TASKS, PretextTask, make_task, task_class, tasks_for


@pytest.mark.parametrize("name", list(PRETEXT_TASKS))
def test_every_task_builds_for_its_modality(name):
    cls = task_class(name)
    assert issubclass(cls, PretextTask) and cls.name == name and cls.paper
    shape = (3, 32, 32) if "image" in cls.modalities else (13,)
    assert make_task(name, shape).name == name
    other = (13,) if "image" in cls.modalities else (3, 32, 32)
    with pytest.raises(DataError, match="works on"):
        make_task(name, other)


def test_tasks_for_filters_by_modality_and_shape():
    assert set(tasks_for("vector")) == {"vime", "scarf"}
    assert "colorization" in tasks_for("image", (3, 32, 32))
    assert "colorization" not in tasks_for("image", (1, 8, 8))


def test_unknown_task_and_option():
    with pytest.raises(ValueError, match="unknown pretext task 'rotate'"):
        make_task("rotate", (3, 8, 8))
    with pytest.raises(TypeError, match="task 'rotation'"):
        make_task("rotation", (3, 8, 8), turns=3)
