"""A workshop on one server: JupyterHub for the course, with nbgrader's exchange.

- ``layout``: where the hub keeps its state, its settings, and the folders' permissions;
- ``jupyterhub_config.py``: the hub's configuration, read from the saved settings;
- ``spawner``: participants' servers as their own Unix users, with memory, CPU and process limits;
- ``homes``: each participant's home on a file system of its own, of a fixed size;
- ``start_server`` / ``sync``: lessons copied into each home without clobbering edits;
- ``exchange``: release, private submissions and feedback through nbgrader's exchange;
- ``accounts``: Unix accounts, hub users and gradebook students from a roster;
- ``hubapi``: a small client of JupyterHub's REST API.
"""
