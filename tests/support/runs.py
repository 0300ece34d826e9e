"""Configs composed as the app composes them, and small run dirs made by hand (prepared data,
an export, an eval's results) for the stages that read them."""

import datetime as dt
import json
import random
import shutil
from pathlib import Path

import msgspec
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from chatlike.config import Config, register
from chatlike.eval import report
from chatlike.eval.results import (
    ChatSampling,
    EvalResults,
    Generation,
    Interval,
    Likelihood,
    LmEval,
    ParrotSpread,
    Regression,
    Spread,
    TaskCheck,
    TextResults,
    VersusParrot,
)
from chatlike.rundir import RunDir
from tests.support.cli import ROOT

LINES = {
    "Lorenzo": (
        ["ciao!", "ci sei stasera?", "andiamo al cinema?", "che fai domani?"],
        ["sì ahah", "certo, alle nove", "no dai, sono stanco", "va bene!"],
    ),
    "Anna": (
        ["hey, how are you?", "lunch tomorrow?", "lol that's great"],
        ["good, you?", "sure, at noon", "haha yes"],
    ),
    "Dmitri": (["привет!", "как дела?", "ты свободен завтра?"], ["привет", "нормально", "да, конечно"]),
}


def make_cfg(*overrides: str) -> Config:
    """The composed config, built (and so range-checked) as the app does."""
    register()
    with initialize_config_dir(config_dir=str(ROOT / "conf")):
        return OmegaConf.to_object(compose(config_name="config", overrides=list(overrides)))


def write_samples(run_dir: Path, n_train: int = 48, n_val: int = 6, seed: int = 0) -> None:
    """A fixed small prepared data/ in chatlike's JSONL format."""
    rng = random.Random(seed)

    def sample() -> dict:
        contact = rng.choice(sorted(LINES))
        theirs, mine = LINES[contact]
        msgs = [
            {
                "role": "system",
                "content": f"You are Pasquale, chatting with {contact}. "
                "Respond naturally in their conversational style.",
            }
        ]
        for _ in range(rng.randint(1, 3)):
            msgs.append({"role": "user", "name": contact, "content": "\n".join(rng.sample(theirs, 2))})
            msgs.append({"role": "assistant", "name": "Pasquale", "content": rng.choice(mine)})
        return {"messages": msgs}

    data = run_dir / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name, n in (("train", n_train), ("val", n_val), ("test", n_val)):
        text = "".join(json.dumps(sample(), ensure_ascii=False) + "\n" for _ in range(n))
        (data / f"{name}.jsonl").write_text(text, encoding="utf-8")


def run_dir_with_data(tmp_path: Path, tiny_run: Path | None = None) -> Path:
    """A fresh run dir with data/ (and, given tiny_run, its data and tiny model)."""
    run = tmp_path / "run"
    if tiny_run is None:
        write_samples(run)
    else:
        shutil.copytree(RunDir(tiny_run).data, RunDir(run).data)
        shutil.copytree(RunDir(tiny_run).tiny_model, RunDir(run).tiny_model)
    return run


def small_export(path: Path) -> Path:
    """A full export: two contacts, conversations a day apart with quick replies, one "only my
    messages" group."""
    chats, start = [], dt.datetime(2024, 3, 1, 9, 0)
    for uid, name in ((101, "Lorenzo"), (102, "Anna")):
        messages = []
        for day in range(6):
            t = start + dt.timedelta(days=day, minutes=uid)
            for k in range(6):
                t += dt.timedelta(minutes=(1, 3, 20)[k % 3])
                mine = k % 2 == 1
                messages.append(
                    {
                        "id": len(messages) + 1,
                        "type": "message",
                        "date": t.isoformat(),
                        "date_unixtime": str(int(t.replace(tzinfo=dt.UTC).timestamp())),
                        "from": "Pasquale" if mine else name,
                        "from_id": "user1" if mine else f"user{uid}",
                        "text": f"day {day} message {k} {'from me' if mine else 'to me'}",
                    }
                )
        chats.append({"name": name, "type": "personal_chat", "id": uid, "messages": messages})
    chats.append(
        {
            "name": "Book club",
            "type": "private_group",
            "id": 900,
            "messages": [
                {
                    "id": 1,
                    "type": "message",
                    "date": "2024-03-01T10:00:00",
                    "date_unixtime": "1709287200",
                    "from": "Pasquale",
                    "from_id": "user1",
                    "text": "hello?",
                }
            ],
        }
    )
    export = {"personal_information": {"user_id": 1, "first_name": "Pasquale"}, "chats": {"list": chats}}
    path.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    return path


def make_results(
    score: float = 9.0,
    versus: str = "better",
    distance: float = 0.1,
    regressed=(),
    tasks=("chatlike_mc",),
    sampled: bool = False,
) -> EvalResults:
    """The results an eval writes, with made-up numbers (the style and memorisation of three
    replies computed for real): everything the report section and the sweep summary read."""
    from collections import Counter

    from chatlike.eval.memorisation import TrainingReplies, memorisation
    from chatlike.eval.metrics import style

    replies = ["ciao!", "ahah sì", "ok"]
    s, memo = style(replies, [], Counter()), memorisation(replies, TrainingReplies(["ahah sì"]))
    iv, spread = Interval(1.0, 0.5, 1.5), Spread(0.5, 0.25, 0.75)
    text = TextResults(
        style=dict.fromkeys(report.SETS, s),
        distance={"base": 0.3, "tuned": distance, "parrot": 0.5},
        chrf={"base": iv, "tuned": Interval(40.0, 35.0, 45.0), "parrot": iv, "tuned_minus_parrot": iv},
        memorisation={
            **dict.fromkeys(report.SETS, memo),
            "tuned": msgspec.structs.replace(memo, copy_share=0.25),
        },
        scores={"base": 1.0, "tuned": score, "parrot": 1.0},
        parrot=ParrotSpread(20, spread, spread, Spread(1.0, 0.5, 2.0)),
        versus_parrot=VersusParrot(versus, "tie", versus),
    )
    checks = {t: TaskCheck("acc", 0.5, 0.4, 0.1) for t in tasks}
    chat = ChatSampling(0.7, 0.9, 1.1, 0) if sampled else None
    return EvalResults(
        **msgspec.structs.asdict(text) | {"versus_parrot": VersusParrot(versus, "tie", versus, versus)},
        score=score,
        context_gain_bpb={"base": iv, "tuned": Interval(0.2, 0.1, 0.3)},
        distance_terms={"base": {}, "tuned": {}},
        lm_eval=LmEval(
            {"tuned": Likelihood(bits_per_byte=2.5), "base": Likelihood(bits_per_byte=4.0)}, {}, 5
        ),
        regression=Regression(0.02, checks, list(regressed), not regressed),
        generation=Generation(8, "chat" if sampled else "greedy", chat, 3, "cpu"),
        sampled=msgspec.structs.replace(text, versus_parrot=VersusParrot("tie", "tie", "tie"))
        if sampled
        else None,
        blind_pairs=3,
        seconds=1.0,
    )
