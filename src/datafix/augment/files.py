"""Image files to augmented batches: read in DataLoader workers, decoded on the GPU, augmented there.

The DALI-style input pipeline in plain PyTorch. DataLoader workers only read file bytes; the
main process hands a batch of JPEG bytes to nvJPEG (``torchvision.io.decode_jpeg(...,
device="cuda")``, the optional ``datafix[gpu]`` extra), resizes each image on the device and
runs the batch transform (the fused kernel) there. Files nvJPEG does not take (PNG, ...) and
every file on a CPU are decoded by PIL in the workers (JPEGs at a reduced DCT scale when they
are much larger than the target side), resized, and stacked.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from datafix._validation import check_choice, check_int
from datafix.data.decode import read_image
from datafix.data.image_folder import ImageFolderDataset
from datafix.errors import InvalidInputError, InvalidTypeError

DECODERS = ("auto", "gpu", "cpu")
_JPEG_MAGIC = b"\xff\xd8\xff"


def gpu_decoding_available() -> bool:
    """Whether JPEGs can be decoded on a CUDA device here (a CUDA device, and torchvision's image ops)."""
    if not torch.cuda.is_available():
        return False
    try:
        from torchvision.io import decode_jpeg  # noqa: F401
    except (ImportError, RuntimeError, OSError):
        return False
    return True


class _FileItems(torch.utils.data.Dataset):
    """(bytes of a JPEG for the device, or the image decoded by PIL; class code; index)."""

    def __init__(self, samples: list[tuple[Path, int]], size: int, jpeg_bytes: bool) -> None:
        self.samples, self.size, self.jpeg_bytes = samples, size, jpeg_bytes

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[Tensor, int, int]:
        path, code = self.samples[i]
        data = path.read_bytes()
        if self.jpeg_bytes and data[:3] == _JPEG_MAGIC:
            return torch.frombuffer(bytearray(data), dtype=torch.uint8), code, i
        try:
            return read_image(io.BytesIO(data), (self.size, self.size), draft=True), code, i
        except (OSError, ValueError, Image.DecompressionBombError) as error:
            raise InvalidInputError(f"Could not decode the image file {str(path)!r}: {error}") from error


def _collate(items: list[tuple[Tensor, int, int]]) -> tuple[list[Tensor], Tensor, Tensor]:
    return [t for t, _, _ in items], torch.tensor([c for _, c, _ in items]), torch.tensor([i for _, _, i in items])


def resize_on_device(image: Tensor, size: int) -> Tensor:
    """A (3, H, W) uint8 image resized to (3, ``size``, ``size``) (bilinear, antialiased), uint8."""
    if image.shape[-2:] == (size, size):
        return image
    out = F.interpolate(image[None].to(torch.float32), size=(size, size), mode="bilinear", antialias=True,
                        align_corners=False)
    return out[0].round_().clamp_(0, 255).to(torch.uint8)


class ImageFileLoader:
    """Batches of an image folder (``root/<class>/<file>``), decoded and augmented on ``device``.

    Parameters
    ----------
    root : str or pathlib.Path
        One subfolder per class, as :class:`torchvision.datasets.ImageFolder` reads it.
    size : int, default 224
        Every image is resized to ``size`` x ``size`` (so a batch stacks) before ``transform``.
    batch_size : int, default 64
    transform : callable, optional
        Run on each uint8 batch on ``device`` with ``sample_ids`` (the files' indices), e.g. a
        :class:`~datafix.augment.Compose`: keyed draws, so a file's augmentation does not depend
        on its batch or worker.
    device : str or torch.device, default "cpu"
    num_workers : int, default 2
        DataLoader workers reading (and, on a CPU, decoding) files.
    shuffle : bool, default False
    sampler : torch.utils.data.Sampler or iterable of int, optional
        The file indices of an epoch, in order (e.g. a
        :class:`~datafix.balance.ClassBalancedSampler` built on the loader's ``targets``, to rebalance
        the classes); instead of ``shuffle``. Its ``set_epoch`` is called by :meth:`set_epoch`.
    drop_last : bool, default False
        Leave out the last batch when it is short (so every batch has ``batch_size`` images).
    decode : {"auto", "gpu", "cpu"}, default "auto"
        Where JPEGs are decoded: "gpu" on ``device`` with nvJPEG (needs CUDA and torchvision's
        image ops, ``pip install datafix[gpu]``), "cpu" by PIL in the workers; "auto" takes the
        GPU where it can. Other formats are always decoded by PIL in the workers.
    seed : int, default 0
        Seeds the shuffle (and :meth:`set_epoch` moves it on).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from PIL import Image
    >>> from datafix import augment as A
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for c in ("cat", "dog"):
    ...     (root / c).mkdir()
    ...     for k in range(3):
    ...         Image.new("RGB", (40, 30), color=(40 * k, 90, 200)).save(root / c / f"{k}.jpg")
    >>> loader = ImageFileLoader(root, size=16, batch_size=4, num_workers=0,
    ...                          transform=A.Compose([A.HorizontalFlip(), A.ColorJitter(0.2)], seed=0))
    >>> images, labels, ids = next(iter(loader))
    >>> images.shape, images.dtype, labels.tolist(), loader.classes
    (torch.Size([4, 3, 16, 16]), torch.float32, [0, 0, 0, 1], ['cat', 'dog'])

    Rebalanced classes: a sampler over the files' class codes.

    >>> from datafix.balance import ClassBalancedSampler
    >>> sampler = ClassBalancedSampler(ImageFileLoader(root).targets, seed=0)
    >>> loader = ImageFileLoader(root, size=16, batch_size=3, num_workers=0, sampler=sampler, drop_last=True)
    >>> [labels.tolist() for _, labels, _ in loader]
    [[1, 0, 0], [0, 1, 1]]
    """

    def __init__(self, root: str | Path, *, size: int = 224, batch_size: int = 64,
                 transform: Callable[..., Tensor] | None = None, device: str | torch.device = "cpu",
                 num_workers: int = 2, shuffle: bool = False, sampler: Iterable[int] | None = None,
                 drop_last: bool = False, decode: str = "auto", seed: int = 0) -> None:
        if transform is not None and not callable(transform):
            raise InvalidTypeError(f"The 'transform' argument must be callable; got {type(transform).__name__}.")
        if sampler is not None and not isinstance(sampler, Iterable):
            raise InvalidTypeError(f"The 'sampler' argument must be a Sampler (an iterable of file indices); got "
                                   f"{type(sampler).__name__}.")
        if sampler is not None and shuffle:
            raise InvalidInputError("Pass either sampler= or shuffle=True, not both: the sampler sets the order "
                                    "(shuffle it there, or drop shuffle=True).")
        self.size = check_int(size, "size", minimum=1)
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.num_workers = check_int(num_workers, "num_workers", minimum=0)
        self.device = torch.device(device)
        decode = check_choice(decode, "decode", DECODERS)
        if decode == "gpu" and not (self.device.type == "cuda" and gpu_decoding_available()):
            raise InvalidInputError("decode='gpu' needs a CUDA device= and torchvision's image ops (pip install "
                                    "'datafix[gpu]'); use decode='auto' to fall back to PIL in the workers.")
        self.gpu_decode = decode != "cpu" and self.device.type == "cuda" and gpu_decoding_available()
        folder = ImageFolderDataset(root)  # the same discovery as the audit's
        self.classes = sorted(set(folder.targets))
        codes = {c: k for k, c in enumerate(self.classes)}
        self.files = [path for path, _ in folder.samples]
        self.targets = [codes[c] for _, c in folder.samples]
        self.transform, self.shuffle, self.seed, self.epoch = transform, bool(shuffle), int(seed), 0
        self.sampler, self.drop_last = sampler, bool(drop_last)

    def __len__(self) -> int:
        n = len(self.sampler) if self.sampler is not None else len(self.files)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Move the shuffle (and the sampler's and the transform's draws, where they have
        ``set_epoch``) to ``epoch``."""
        self.epoch = int(epoch)
        for part in (self.sampler, self.transform):
            if hasattr(part, "set_epoch"):
                part.set_epoch(self.epoch)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
        """Yield ``(images, labels, ids)``: the batch on ``device`` (after ``transform``), class codes
        into :attr:`classes`, and the files' indices into :attr:`files`."""
        items = _FileItems(list(zip(self.files, self.targets, strict=True)), self.size, self.gpu_decode)
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        loader = torch.utils.data.DataLoader(items, batch_size=self.batch_size, shuffle=self.shuffle,
                                             sampler=self.sampler, drop_last=self.drop_last,
                                             num_workers=self.num_workers, collate_fn=_collate, generator=generator,
                                             pin_memory=self.device.type == "cuda")
        for images, labels, ids in loader:
            batch = self._stack(images, ids)
            if self.transform is not None:
                batch = self.transform(batch, sample_ids=ids.to(self.device))
            yield batch, labels.to(self.device), ids

    def _stack(self, images: list[Tensor], ids: Tensor) -> Tensor:
        """The batch's images as one (B, 3, size, size) uint8 tensor on the device (JPEG bytes decoded there)."""
        encoded = [i for i, t in enumerate(images) if t.ndim == 1]
        out = [t.to(self.device, non_blocking=True) for t in images]
        if encoded:
            from torchvision.io import ImageReadMode, decode_jpeg

            try:
                decoded = decode_jpeg([images[i] for i in encoded], mode=ImageReadMode.RGB, device=self.device)
            except RuntimeError as error:
                names = ", ".join(repr(str(self.files[int(ids[i])])) for i in encoded)
                raise InvalidInputError(f"nvJPEG could not decode one of the files {names}: {error}") from error
            for i, image in zip(encoded, decoded, strict=True):
                out[i] = resize_on_device(image, self.size)
        return torch.stack(out)
