"""Where photos come from: a local folder (``local``) or an Azure File Share (``azure_files``)."""
