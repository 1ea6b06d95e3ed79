"""NexaFi credit service: credit scores, loan applications and underwriting, loans, credit lines."""
