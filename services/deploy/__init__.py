"""Deployment artefacts rendered from the repository.

Kubernetes manifests: ``python -m services.deploy.k8s``.
"""
