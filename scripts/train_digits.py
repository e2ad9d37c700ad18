"""Train a small network on scikit-learn's digits and record its gradients with GradientRecorder.

The data set is ``sklearn.datasets.load_digits`` (1797 8x8 images, pixels 0..16, bundled
inside the scikit-learn package: no download). Pixels are scaled to [0, 1] by /16 and not
centred, so an input pixel that is 0 for a whole mini-batch gives an exactly-zero gradient
column, and ReLU units that are dead for a whole mini-batch give exactly-zero rows.

Models:
    mlp  64 -> 128 -> 64 -> 10, ReLU            (fc1, fc2, fc3)
    cnn  conv 1->16 3x3 pad 1, ReLU, conv 16->16 3x3 pad 1, ReLU, max-pool 2,
         256 -> 64, ReLU, 64 -> 10               (conv1, conv2, fc1, fc2)

Training: cross-entropy, SGD with momentum, mini-batches drawn from a seeded permutation,
one thread, deterministic algorithms. The step counter counts optimizer steps from 0; the
gradient of step s is the one computed at the parameters after s updates, so step 0 is
the gradient at initialisation.

    python3 scripts/train_digits.py --model mlp --out data/digits-mlp
    python3 scripts/train_digits.py --model cnn --out data/digits-cnn
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from gradrd.torch import GradientRecorder


class DigitsMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(64, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.reshape(images.shape[0], 64)
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        return self.fc3(x)


class DigitsCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(16, 16, kernel_size=3, padding=1)
        self.fc1 = nn.Linear(16 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.reshape(images.shape[0], 1, 8, 8)
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv2(x))
        x = torch.max_pool2d(x, 2)
        x = torch.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)


MODELS = {"mlp": DigitsMLP, "cnn": DigitsCNN}


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        predicted = model(images).argmax(dim=1)
    model.train()
    return float((predicted == labels).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="mlp")
    parser.add_argument("--out", required=True, help="directory for step_*.safetensors")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--every", type=int, default=50, help="record steps with step %% every == 0")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)

    digits = load_digits()
    pixels = digits.data.astype(np.float32) / 16.0
    train_x, test_x, train_y, test_y = train_test_split(
        pixels, digits.target, test_size=0.2, random_state=args.seed, stratify=digits.target
    )
    train_x, test_x = torch.from_numpy(train_x), torch.from_numpy(test_x)
    train_y, test_y = torch.from_numpy(train_y).long(), torch.from_numpy(test_y).long()

    model = MODELS[args.model]()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    loss_fn = nn.CrossEntropyLoss()
    recorder = GradientRecorder(
        model,
        args.out,
        every=args.every,
        metadata={"model": f"digits-{args.model}", "seed": str(args.seed)},
    )
    shuffle = torch.Generator().manual_seed(args.seed)

    step = 0
    recorded = []
    for epoch in range(args.epochs):
        order = torch.randperm(len(train_x), generator=shuffle)
        for start in range(0, len(order), args.batch_size):
            batch = order[start : start + args.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(train_x[batch]), train_y[batch])
            loss.backward()
            written = recorder.step(step)
            if written is not None:
                recorded.append({"step": step, "epoch": epoch, "loss": loss.item()})
            optimizer.step()
            step += 1

    summary = {
        "model": args.model,
        "arguments": vars(args),
        "optimizer_steps": step,
        "train_size": len(train_x),
        "test_size": len(test_x),
        "train_accuracy": accuracy(model, train_x, train_y),
        "test_accuracy": accuracy(model, test_x, test_y),
        "recorded": recorded,
        "versions": {
            "torch": torch.__version__,
            "numpy": np.__version__,
            "sklearn": __import__("sklearn").__version__,
        },
    }
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
