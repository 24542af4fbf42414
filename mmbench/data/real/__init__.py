"""Real datasets built from installed packages: ``multifashion`` (Debian's Fashion-MNIST), ``stamps`` (Debian's
Tux Paint stamps: image, text and speech) and ``movies`` (PyPI's bokeh-sampledata).

Each module's factory returns a :class:`~mmbench.data.spec.DatasetSpec` whose builder reads the package's
files once into a Hugging Face dataset cached on disk (:mod:`mmbench.data.real.cache`), then draws the
train/validation/test split; the data then goes through the same checks and decoding as any other.
A missing package stops the factory, before any training, with the command that installs it.
"""
