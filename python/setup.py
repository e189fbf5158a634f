"""setuptools entry point: builds the cffi extension (sessnap/_build.py).

The project's metadata is in pyproject.toml.
"""

from setuptools import setup

setup(
    packages=["sessnap"],
    package_data={"sessnap": ["py.typed"]},
    cffi_modules=["sessnap/_build.py:ffibuilder"],
)
