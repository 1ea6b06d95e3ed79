"""Using a credit line: draws into the wallet, daily interest, monthly statements, repayments."""
