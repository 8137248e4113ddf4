"""grader.course: where a course lives, its folders, its units and the environment's PATH."""

import os

import pytest

from grader.course import (
    DATA_FOLDER,
    ENV_BIN,
    Course,
    env_path,
    load_config,
    reports_folder,
    write_scratch_config,
)


@pytest.fixture()
def course(tmp_path):
    """A scratch course with two units in its source folder (and some debris)."""
    write_scratch_config(tmp_path)
    for folder in ("02_b", "01_a", ".ipynb_checkpoints", "_drafts"):
        (tmp_path / "solutions" / folder).mkdir(parents=True)
    (tmp_path / "solutions" / "notes.txt").write_text("not a unit")
    return Course(tmp_path)


def test_env_path_puts_the_environment_first_once():
    bin_dir = str(ENV_BIN)
    assert ENV_BIN.joinpath("python").exists() or ENV_BIN.joinpath("python3").exists()
    assert env_path("/usr/bin:/bin") == os.pathsep.join([bin_dir, "/usr/bin", "/bin"])
    assert env_path(f"/usr/bin:{bin_dir}:/bin") == os.pathsep.join([bin_dir, "/usr/bin", "/bin"])
    assert env_path(bin_dir) == bin_dir
    assert env_path("") == bin_dir


def test_env_path_reads_this_process_path(monkeypatch):
    monkeypatch.setenv("PATH", "/opt/x")
    assert env_path() == f"{ENV_BIN}{os.pathsep}/opt/x"


def test_the_working_data_lives_in_one_folder(course, tmp_path):
    assert course.root == tmp_path.resolve()
    assert course.reports == reports_folder(tmp_path) == tmp_path / DATA_FOLDER / "reports"
    assert course.incoming == tmp_path.resolve() / DATA_FOLDER / "incoming"
    assert course.db_url == f"sqlite:///{tmp_path / DATA_FOLDER / 'gradebook.db'}"
    assert course.folder("submitted", "ann", "01_a") == (
        tmp_path.resolve() / DATA_FOLDER / "submitted" / "ann" / "01_a")
    assert course.folder("source") == tmp_path.resolve() / "solutions"
    assert course.folder("release", unit="01_a") == tmp_path.resolve() / "exercises" / "01_a"


def test_units_are_the_source_folders(course):
    assert course.units() == ["01_a", "02_b"]
    course.require_unit("02_b")
    with pytest.raises(ValueError, match=r"unknown unit '03_c'.*01_a, 02_b; pass one of them"):
        course.require_unit("03_c")


def test_submitted_students_and_notebook_names(course):
    assert course.submitted_students("01_a") == []
    for student in ("bo", "al"):
        course.folder("submitted", student, "01_a").mkdir(parents=True)
    course.folder("submitted", "cy", "02_b").mkdir(parents=True)
    assert course.submitted_students("01_a") == ["al", "bo"]
    assert course.notebook_names("01_a") == ["01_a"]  # no release yet: the unit's name
    release = course.folder("release", unit="01_a")
    release.mkdir(parents=True)
    (release / "part2.ipynb").write_text("{}")
    (release / "part1.ipynb").write_text("{}")
    assert course.notebook_names("01_a") == ["part1", "part2"]


def test_coursedir_for_leaves_the_course_configuration_alone(course, tmp_path):
    other = course.coursedir_for(db_url="sqlite:///elsewhere.db", student_id="ann",
                                 release_directory="scratch")
    assert (other.db_url, other.student_id, other.release_directory) == (
        "sqlite:///elsewhere.db", "ann", "scratch")
    assert course.config.CourseDirectory.db_url == course.db_url
    assert "student_id" not in course.config.CourseDirectory
    assert course.coursedir_for().release_directory == "exercises"


def test_a_folder_without_configuration_is_not_a_course(tmp_path):
    with pytest.raises(FileNotFoundError, match="no nbgrader_config.py: is it the course root"):
        load_config(tmp_path)
    with pytest.raises(FileNotFoundError):
        Course(tmp_path)


def test_scratch_config_loads_the_course_configuration(tmp_path):
    db = write_scratch_config(tmp_path, "c.Exchange.course_id = 'other'\n")
    config = load_config(tmp_path)
    assert db == tmp_path / DATA_FOLDER / "gradebook.db" and db.parent.is_dir()
    assert config.CourseDirectory.source_directory == "solutions"  # from grader/nbgrader_config
    assert config.Exchange.course_id == "other"
