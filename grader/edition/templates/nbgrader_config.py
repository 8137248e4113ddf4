# nbgrader's Validate button, set as the course grades (and as dlcourse.validate prints).
c = get_config()  # noqa: F821
c.Validator.width = 200
c.Execute.timeout = 600
c.Execute.interrupt_on_timeout = True
