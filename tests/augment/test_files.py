"""ImageFileLoader: an image folder read in workers, decoded (PIL on a CPU, nvJPEG on CUDA), augmented."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from datafix import augment as A
from datafix.augment.files import gpu_decoding_available, resize_on_device
from datafix.data.decode import read_image
from datafix.errors import DatafixWarning, InvalidInputError, InvalidTypeError


@pytest.fixture(scope="module")
def folder(tmp_path_factory, photo):
    """Two classes of crops of the photo: JPEGs of several sizes, PNGs, a grayscale JPEG."""
    root = tmp_path_factory.mktemp("files")
    image = Image.fromarray(photo)
    for c, name in enumerate(("boats", "hills")):
        (root / name).mkdir()
        for k in range(5):
            crop = image.crop((8 * k + c, 4 * k, 8 * k + c + 60 + 10 * k, 4 * k + 50))
            crop.save(root / name / f"{k}.jpg", quality=92)
        image.crop((c, 0, 40 + c, 40)).save(root / name / "still.png")
    image.convert("L").save(root / "hills" / "gray.jpg", quality=92)
    return root


def test_batches_cover_every_file_once_with_its_class(folder):
    loader = A.ImageFileLoader(folder, size=24, batch_size=5, num_workers=2, shuffle=True, seed=3)
    seen, labels = [], {}
    for images, codes, ids in loader:
        assert images.dtype == torch.uint8 and images.shape[1:] == (3, 24, 24)
        assert images.shape[0] == len(codes) == len(ids)
        seen += ids.tolist()
        labels.update(zip(ids.tolist(), codes.tolist(), strict=True))
    assert sorted(seen) == list(range(len(loader.files))) == list(range(13))
    assert loader.classes == ["boats", "hills"] and len(loader) == 3
    for i, code in labels.items():
        assert loader.files[i].parent.name == loader.classes[code]


def test_files_classes_and_labels_are_torchvisions_imagefolder(folder):
    # a user moving from torchvision.datasets.ImageFolder keeps its file order, class order and codes
    from torchvision.datasets import ImageFolder

    theirs = ImageFolder(str(folder))
    loader = A.ImageFileLoader(folder, size=24, batch_size=16, num_workers=0)
    assert loader.classes == theirs.classes
    assert [str(p) for p in loader.files] == [path for path, _ in theirs.samples]
    _, codes, ids = next(iter(loader))
    assert codes.tolist() == [theirs.targets[i] for i in ids.tolist()]
    # the pixels: ImageFolder's decoded image, converted and resized as the loader does (a PNG exactly)
    png = next(i for i, p in enumerate(loader.files) if p.suffix == ".png")
    image, _ = theirs[png]
    expected = torch.from_numpy(np.asarray(image.resize((24, 24), Image.BILINEAR))).permute(2, 0, 1)
    images, _, ids = next(iter(A.ImageFileLoader(folder, size=24, batch_size=16, num_workers=0)))
    got = images[ids.tolist().index(png)]
    assert float((got.float() - expected.float()).abs().mean()) < 2.0


def test_images_are_the_files_decoded_and_resized(folder):
    loader = A.ImageFileLoader(folder, size=24, batch_size=16, num_workers=0)
    images, _, ids = next(iter(loader))
    for image, i in zip(images, ids.tolist(), strict=True):
        path = loader.files[i]
        expected = read_image(path, (24, 24)).to(torch.float32)
        diff = (image.to(torch.float32) - expected).abs().mean()
        if path.suffix == ".png":
            assert diff == 0
        else:  # a JPEG larger than the side is decoded at a reduced DCT scale, then resized
            assert float(diff) < 6.0


def test_large_jpegs_are_decoded_at_a_reduced_scale(photo):
    import io

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(photo)).resize((640, 428)).save(buffer, format="JPEG", quality=92)
    small = read_image(io.BytesIO(buffer.getvalue()), (32, 32), draft=True)
    full = read_image(io.BytesIO(buffer.getvalue()), (32, 32))
    assert small.shape == (3, 32, 32) and float((small.float() - full.float()).abs().mean()) < 4.0


def test_transform_gets_keyed_sample_ids_so_a_file_is_augmented_alike_in_any_batch(folder):
    aug = A.Compose([A.RandomResizedCrop(16), A.HorizontalFlip(), A.ColorJitter(0.3, 0.3)], seed=7)
    by_id = {}
    for batch_size, shuffle in ((4, False), (3, True)):
        loader = A.ImageFileLoader(folder, size=24, batch_size=batch_size, num_workers=0, shuffle=shuffle,
                                   transform=aug)
        for images, _, ids in loader:
            assert images.dtype == torch.float32 and images.shape[1:] == (3, 16, 16)
            for image, i in zip(images, ids.tolist(), strict=True):
                if i in by_id:
                    assert torch.allclose(by_id[i], image, atol=1e-6)
                by_id[i] = image
    loader.set_epoch(1)
    assert aug.epoch == 1
    images, _, ids = next(iter(loader))
    assert not torch.allclose(images[0], by_id[int(ids[0])])  # a new epoch draws anew


def test_shuffle_is_seeded_and_moves_with_the_epoch(folder):
    def order(loader):
        return [i for _, _, ids in loader for i in ids.tolist()]

    a = A.ImageFileLoader(folder, size=8, batch_size=4, num_workers=0, shuffle=True, seed=1)
    b = A.ImageFileLoader(folder, size=8, batch_size=4, num_workers=0, shuffle=True, seed=1)
    assert order(a) == order(b)
    b.set_epoch(1)
    assert order(a) != order(b)


def test_a_sampler_sets_the_files_and_drop_last_the_full_batches(folder):
    # the folder holds 6 "boats" and 7 "hills" files; a class-balanced sampler over the files'
    # class codes draws both classes alike, and its epoch moves with the loader's
    from datafix.balance import ClassBalancedSampler

    targets = A.ImageFileLoader(folder).targets
    sampler = ClassBalancedSampler(targets, num_samples=400, seed=0)
    loader = A.ImageFileLoader(folder, size=8, batch_size=64, num_workers=2, sampler=sampler, drop_last=True)
    batches = [(codes, ids) for _, codes, ids in loader]
    assert len(batches) == len(loader) == 6 and all(len(ids) == 64 for _, ids in batches)  # 400 // 64, tail dropped
    ids = torch.cat([i for _, i in batches])
    codes = torch.cat([c for c, _ in batches])
    assert torch.equal(codes, torch.tensor(targets)[ids])  # each image comes with its own file's class
    assert abs(float(codes.float().mean()) - 0.5) < 0.1  # balanced, not 7 / 13
    first = ids.tolist()
    with pytest.warns(DatafixWarning, match="set_epoch"):  # the same epoch again: the same draw, and a warning
        assert [i for _, _, b in loader for i in b.tolist()] == first
    loader.set_epoch(1)
    assert sampler.epoch == 1 and [i for _, _, b in loader for i in b.tolist()] != first
    assert len(A.ImageFileLoader(folder, batch_size=5)) == 3 and len(A.ImageFileLoader(folder, batch_size=5,
                                                                                        drop_last=True)) == 2


def test_a_broken_file_is_named(tmp_path):
    (tmp_path / "a").mkdir()
    Image.new("RGB", (10, 10)).save(tmp_path / "a" / "fine.png")
    (tmp_path / "a" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    loader = A.ImageFileLoader(tmp_path, size=8, batch_size=2, num_workers=0)
    with pytest.raises(InvalidInputError, match="broken.jpg"):
        list(loader)


def test_bad_arguments_are_refused(folder, tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        A.ImageFileLoader(tmp_path / "nowhere")
    with pytest.raises(InvalidInputError, match="'size'"):
        A.ImageFileLoader(folder, size=0)
    with pytest.raises(InvalidInputError, match="'decode'"):
        A.ImageFileLoader(folder, decode="nvjpeg")
    with pytest.raises(InvalidTypeError, match="'transform'"):
        A.ImageFileLoader(folder, transform="flip")
    with pytest.raises(InvalidTypeError, match="'sampler'"):
        A.ImageFileLoader(folder, sampler=3)
    with pytest.raises(InvalidInputError, match="either sampler= or shuffle=True"):
        A.ImageFileLoader(folder, sampler=range(13), shuffle=True)
    if not gpu_decoding_available():
        with pytest.raises(InvalidInputError, match="decode='gpu' needs a CUDA device"):
            A.ImageFileLoader(folder, decode="gpu")


def test_resize_on_device_keeps_a_flat_image_flat_and_uint8():
    out = resize_on_device(torch.full((3, 40, 30), 77, dtype=torch.uint8), 16)
    assert out.dtype == torch.uint8 and out.shape == (3, 16, 16) and bool((out == 77).all())


@pytest.mark.gpu
def test_gpu_decoding_matches_pil_in_the_workers(folder):
    if not gpu_decoding_available():
        pytest.skip("needs CUDA and torchvision's image ops")
    on_gpu = A.ImageFileLoader(folder, size=24, batch_size=16, num_workers=0, device="cuda", decode="gpu")
    on_cpu = A.ImageFileLoader(folder, size=24, batch_size=16, num_workers=0, device="cuda", decode="cpu")
    (gpu_images, _, ids), (cpu_images, _, ids_cpu) = next(iter(on_gpu)), next(iter(on_cpu))
    assert torch.equal(ids, ids_cpu) and gpu_images.is_cuda
    assert float((gpu_images.float() - cpu_images.float()).abs().mean()) < 6.0
