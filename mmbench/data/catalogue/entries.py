"""The catalogue: named benchmarks on the Hugging Face Hub, one :class:`BenchmarkCard` each.

Schemas (split names, column names and feature types, licences) are those of the best hub copies found,
as their dataset cards declare them (``docs/datasets.md`` lists them); none was checked against the live
hub. The tests load each entry from a fixture written in exactly that schema. Images are resized to 64x64 by default (the CelebA setting of Sener & Koltun 2018) so that a
whole split fits in memory; the ``image_size`` option changes it.
"""

from __future__ import annotations

from mmbench.data.catalogue.card import BenchmarkCard

#: CelebA's 40 binary attributes, as the columns of ``flwrlabs/celeba`` name them (all ``bool``)
CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs", "Big_Lips", "Big_Nose",
    "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows", "Chubby", "Double_Chin", "Eyeglasses",
    "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones", "Male", "Mouth_Slightly_Open", "Mustache",
    "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline", "Rosy_Cheeks",
    "Sideburns", "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat", "Wearing_Lipstick",
    "Wearing_Necklace", "Wearing_Necktie", "Young",
)
#: the small preset: five fairly balanced attributes of different kinds (face, hair, expression, age)
CELEBA_5_ATTRIBUTES = ("Male", "Smiling", "Young", "Wavy_Hair", "Heavy_Makeup")

_FACE = {"face": {"column": "image", "kind": "image", "size": [64, 64]}}
_UNPINNED = ("no commit could be checked against the Hub when this entry was written (it was not reachable): "
             "the branch `main` is named instead; pin the commit you check (option `revision`)")

_CELEBA = dict(
    source="flwrlabs/celeba",
    revision="2d738f56e0e7f925ea36ae7c808ea925264aacec",
    config="img_align+identity+attr",
    splits={"train": "train", "validation": "valid", "test": "test"},
    license="other: celeba-dataset-release-agreement (non-commercial research only)",
    reference="Liu et al. 2015, Deep Learning Face Attributes in the Wild, ICCV; 40 tasks as in Sener & Koltun 2018, NeurIPS",
    citation="""@inproceedings{liu2015faceattributes,
  title = {Deep Learning Face Attributes in the Wild},
  author = {Liu, Ziwei and Luo, Ping and Wang, Xiaogang and Tang, Xiaoou},
  booktitle = {Proceedings of the International Conference on Computer Vision (ICCV)},
  year = {2015}
}""",
    size="202,599 aligned face images: 162,770 / 19,867 / 19,962",
    modalities=_FACE,
    access="non-commercial research only (CelebA release agreement); not gated",
    homepage="https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
)

CELEBA_40 = BenchmarkCard(
    name="celeba-40",
    description="CelebA aligned faces; 40 binary attributes, each a classification task (the hub's `valid` split is validation)",
    tasks={a: {"column": a, "type": "classification", "num_classes": 2} for a in CELEBA_ATTRIBUTES},
    **_CELEBA,
)

CELEBA_5 = BenchmarkCard(
    name="celeba-5",
    description=f"CelebA aligned faces; 5 of the 40 binary attributes ({', '.join(CELEBA_5_ATTRIBUTES)}) — a quick preset of celeba-40",
    tasks={a: {"column": a, "type": "classification", "num_classes": 2} for a in CELEBA_5_ATTRIBUTES},
    **_CELEBA,
)

FAIRFACE = BenchmarkCard(
    name="fairface",
    source="HuggingFaceM4/FairFace",
    revision="54d573cdb8b5af490ba8da9da2799628f6e5c496",  # the commit public loaders pin (parquet under 0.25/, 1.25/)
    config="0.25",
    splits={"train": "train", "validation": None, "test": "validation"},
    description="FairFace faces balanced by race, gender and age (face margin 0.25); tasks age (9 groups), "
                "gender (2), race (7); the hub's validation split is the test split, validation is carved from train",
    license="cc-by-4.0",
    reference="Kärkkäinen & Joo 2021, FairFace: Face Attribute Dataset for Balanced Race, Gender, and Age for Bias "
              "Measurement and Mitigation, WACV",
    citation="""@inproceedings{karkkainen2021fairface,
  title = {FairFace: Face Attribute Dataset for Balanced Race, Gender, and Age for Bias Measurement and Mitigation},
  author = {K{\\"a}rkk{\\"a}inen, Kimmo and Joo, Jungseock},
  booktitle = {Proceedings of the IEEE/CVF Winter Conference on Applications of Computer Vision (WACV)},
  pages = {1548--1558},
  year = {2021}
}""",
    size="97,698 face images: 86,744 train (10% carved as validation) / 10,954 test",
    modalities=_FACE,
    tasks={"age": {"column": "age", "type": "classification", "num_classes": 9},
           "gender": {"column": "gender", "type": "classification", "num_classes": 2},
           "race": {"column": "race", "type": "classification", "num_classes": 7}},
    homepage="https://github.com/joojs/fairface",
)

#: the 12 regression targets of QM9 as MoleculeNet and most papers use them (units as the card gives them: unstated)
QM9_TARGETS = ("mu", "alpha", "homo", "lumo", "gap", "r2", "zpve", "U0", "U", "H", "G", "Cv")

QM9 = BenchmarkCard(
    name="qm9",
    source="raphavlas/qm9_v2",
    revision="main",
    revision_note=_UNPINNED,
    description="QM9 small organic molecules: RDKit descriptors (tabular) and SMILES (text); 12 quantum-chemical "
                "regression targets, standardised with training statistics and scored in the card's units",
    license="unstated (no licence on the hub card; see the original QM9 release)",
    reference="Ramakrishnan et al. 2014, Quantum chemistry structures and properties of 134 kilo molecules, Scientific Data",
    citation="""@article{ramakrishnan2014qm9,
  title = {Quantum chemistry structures and properties of 134 kilo molecules},
  author = {Ramakrishnan, Raghunathan and Dral, Pavlo O. and Rupp, Matthias and von Lilienfeld, O. Anatole},
  journal = {Scientific Data},
  volume = {1},
  pages = {140022},
  year = {2014}
}""",
    size="133,885 molecules: 123,885 / 5,000 / 5,000",
    modalities={"descriptors": {"columns": ["rdkit_WT", "rdkit_MR", "rdkit_LogP", "rdkit_HA", "rdkit_HD"], "kind": "tabular"},
                "smiles": {"column": "smiles", "kind": "text"}},
    tasks={t: {"column": t, "type": "regression"} for t in QM9_TARGETS},
    homepage="https://doi.org/10.6084/m9.figshare.c.978904.v5",
)

HATEFUL_MEMES = BenchmarkCard(
    name="hateful-memes",
    source="Multimodal-Fatima/Hatefulmemes_train",
    revision="6db651ba9f8b48d7dfd5cf3ff63b1d11cf6d247c",
    splits={"train": "train", "validation": None, "test": None},
    description="Hateful Memes: meme image and its text, hateful or not; the mirror has only the original train "
                "split, so test and validation are carved from it (10% each, seeded)",
    license="research only (Facebook Hateful Memes dataset licence; the mirror declares none)",
    reference="Kiela et al. 2020, The Hateful Memes Challenge: Detecting Hate Speech in Multimodal Memes, NeurIPS",
    citation="""@inproceedings{kiela2020hateful,
  title = {The Hateful Memes Challenge: Detecting Hate Speech in Multimodal Memes},
  author = {Kiela, Douwe and Firooz, Hamed and Mohan, Aravind and Goswami, Vedanuj and Singh, Amanpreet and
            Ringshia, Pratik and Testuggine, Davide},
  booktitle = {Advances in Neural Information Processing Systems},
  volume = {33},
  year = {2020}
}""",
    size="8,500 memes (the original train split): 6,885 / 765 / 850 after carving",
    modalities={"meme": {"column": "image", "kind": "image", "size": [64, 64]}, "caption": {"column": "text", "kind": "text"}},
    tasks={"hateful": {"column": "label", "type": "classification", "num_classes": 2}},
    access="research only: the original terms of Meta's Hateful Memes release apply to this mirror; not gated",
    homepage="https://ai.meta.com/tools/hatefulmemes/",
)

MELD = BenchmarkCard(
    name="meld",
    source="ajyy/MELD_audio",
    revision="refs/convert/parquet",
    revision_note="the hub's parquet conversion branch (the main branch holds a loading script, which datasets>=4 "
                  "no longer runs); a branch, not a commit",
    config="default",
    description="MELD utterances from the TV series Friends: speech (16 kHz, first 3 s) and transcript; tasks "
                "emotion (7 classes) and sentiment (3)",
    license="gpl-3.0",
    reference="Poria et al. 2019, MELD: A Multimodal Multi-Party Dataset for Emotion Recognition in Conversations, ACL",
    citation="""@inproceedings{poria2019meld,
  title = {{MELD}: A Multimodal Multi-Party Dataset for Emotion Recognition in Conversations},
  author = {Poria, Soujanya and Hazarika, Devamanyu and Majumder, Navonil and Naik, Gautam and Cambria, Erik and
            Mihalcea, Rada},
  booktitle = {Proceedings of the 57th Annual Meeting of the Association for Computational Linguistics},
  pages = {527--536},
  year = {2019}
}""",
    size="13,706 utterances: 9,988 / 1,108 / 2,610",
    modalities={"speech": {"column": "audio", "kind": "audio", "sampling_rate": 16000, "length": 48000},
                "transcript": {"column": "text", "kind": "text"}},
    tasks={"emotion": {"column": "emotion", "type": "classification", "num_classes": 7},
           "sentiment": {"column": "sentiment", "type": "classification", "num_classes": 3}},
    homepage="https://affective-meld.github.io/",
)
