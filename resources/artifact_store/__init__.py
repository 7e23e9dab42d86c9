"""Where classifier artifacts are kept: a local folder (``local``) or an Azure File Share."""
