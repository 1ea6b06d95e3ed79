"""NexaFi AI service: features, model post-processing and the training pipeline."""
