"""Contract checks for plugin authors, in the spirit of scikit-learn's ``check_estimator``.

Call them from your plugin's tests::

    from mmbench.testing import check_fuser
    def test_my_fuser():
        check_fuser(MyFuser)

Each raises :class:`ContractError` with the rule broken and the fix. ``check_registered`` runs the
right check on every component a registry holds (mmbench's own tests use it on every built-in).
"""

from mmbench.testing.architectures import check_architecture
from mmbench.testing.common import ContractError
from mmbench.testing.components import check_aligner, check_encoder, check_fuser
from mmbench.testing.fixtures import TINY_GRID, PluginLoadError, PluginSet, check_registered, isolated_plugins, run_tiny_grid
from mmbench.testing.weightings import check_weighting


def __getattr__(name: str):  # check_perturbation lives with the perturbation contract
    if name == "check_perturbation":
        from mmbench.robustness.perturbations import check_perturbation

        return check_perturbation
    raise AttributeError(name)


__all__ = ["ContractError", "PluginLoadError", "PluginSet", "TINY_GRID", "check_aligner", "check_architecture", "check_encoder",
           "check_fuser", "check_perturbation", "check_registered", "check_weighting", "isolated_plugins", "run_tiny_grid"]
