"""Built-in encoders, registered through ``mmbench_register_encoders`` like any plugin's.

Every factory is ``factory(info: ModalityInfo, **options) -> Encoder``; options and defaults are in
``docs/components/encoders.md``. Factories are lazy, so listing them imports neither torch, timm nor librosa.
"""

from __future__ import annotations

from mmbench import hookimpl
from mmbench.hookspecs import Register
from mmbench.plugins.registry import lazy

_PKG = "mmbench.components.encoders"


@hookimpl
def mmbench_register_encoders(register: Register) -> None:
    register("timm", lazy(f"{_PKG}.image:TimmEncoder"), modality="image",
             description="any timm model by name (default test_resnet); tiny images upsampled",
             reference="Wightman 2019, pytorch-image-models (timm)")
    register("cnn", lazy(f"{_PKG}.image:SmallCNN"), modality="image",
             description="small CNN: two 3x3 conv-BN-ReLU + global average pooling, for tiny images",
             reference="LeCun et al. 1998, Proc. IEEE")
    register("sentence-transformer", lazy(f"{_PKG}.text:SentenceTransformerEncoder"), modality="text",
             description="any sentence-transformers model (default all-MiniLM-L6-v2), frozen",
             reference="Reimers & Gurevych 2019, EMNLP")
    register("logmel-cnn", lazy(f"{_PKG}.audio:LogMelCNN"), modality="audio",
             description="log-mel spectrogram (librosa, once per split) + small PANNs-style CNN",
             reference="Kong et al. 2020, PANNs, IEEE/ACM TASLP; log-mel front end after Hershey et al. 2017, ICASSP")
    register("mlp", lazy(f"{_PKG}.tabular:MLPEncoder"), modality=["tabular", "audio"],
             description="MLP over numeric columns standardised with train-split statistics",
             reference="Rumelhart, Hinton & Williams 1986, Nature")
    register("identity", lazy(f"{_PKG}.tabular:IdentityEncoder"), modality="tabular",
             description="standardised numeric columns as they are (no parameters; baseline)")
