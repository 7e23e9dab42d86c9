from resources.image_source.base import ImageSource, SourceError
from resources.image_source.local import LocalFolderImageSource

__all__ = ["ImageSource", "LocalFolderImageSource", "SourceError"]
