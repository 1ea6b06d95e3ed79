"""The AI service's reproducible training pipeline (``python -m services.ai.training``).

Synthetic data (``data``), per-model training and evaluation (``fraud``,
``credit``, ``trend``, ``recommendations``), ONNX export and artifacts
(``common``, ``pipeline``), model cards (``cards``) and plots (``plots``).
"""
