"""The eval stage: reply selection, generation that stops at the end of a turn, the reply-likelihood
lm-eval task, the regression check, the blind test and the report section; end to end on a tiny run."""

import json
import math

import pytest

from chatlike.data.chats import ChatIndex, ChatInfo
from chatlike.errors import ChatlikeError
from chatlike.eval import blind, context, likelihood, report
from chatlike.eval.items import reply_items as items_of
from chatlike.eval.results import (
    read_results,
    write_results,
)
from chatlike.rundir import RunDir
from chatlike.stages import eval as stage
from tests.support.cli import run_cli
from tests.support.runs import make_results

SYSTEM = {"role": "system", "content": "You are Pasquale, chatting with Lorenzo."}
LORENZO = ChatInfo("Lorenzo", "personal_chat", ("Lorenzo",), SYSTEM["content"], 4001, 1, 1)
CHATS = ChatIndex("Pasquale", (LORENZO,))  # data/chats.json


def conv(*turns: tuple[str, str], chat: str = "telegram:4001") -> dict:
    return {"messages": [SYSTEM, *({"role": r, "name": "x", "content": c} for r, c in turns)], "chat": chat}


def test_each_assistant_turn_becomes_a_reply_to_compare_with_everything_before_it():
    samples = [conv(("user", "ciao"), ("assistant", "ehi"), ("user", "come va?"), ("assistant", "bene"))]
    items = items_of(samples, CHATS, max_samples=10, seed=0)
    assert [it["real"] for it in items] == ["ehi", "bene"]
    assert items[1]["context"] == samples[0]["messages"][:4]
    assert items[0]["context"][0] == SYSTEM


def test_a_conversation_opened_by_the_person_has_only_the_system_prompt_as_context():
    items = items_of([conv(("assistant", "buongiorno"))], CHATS, max_samples=10, seed=0)
    assert items == [
        {"chat": "telegram:4001", "contact": "Lorenzo", "context": [SYSTEM], "real": "buongiorno"}
    ]


def test_each_reply_is_named_after_its_chat_as_chats_json_lists_it_not_after_a_speaker():
    group = {
        "role": "system",
        "content": "You are Pasquale, chatting in the group Calcetto with Marco, Sara.",
    }
    sample = {"messages": [group, {"role": "user", "name": "Marco", "content": "Marco: stasera?"},
                           {"role": "assistant", "name": "Pasquale", "content": "ci sono"}], "chat": "telegram:-5"}  # fmt: skip
    calcetto = ChatInfo("Calcetto", "private_group", ("Marco", "Sara"), group["content"], -5, 1, 1)
    (item,) = items_of([sample], ChatIndex("Pasquale", (calcetto,)), max_samples=10, seed=0)
    assert item["contact"] == "Calcetto"


def test_each_reply_belongs_to_the_chat_its_sample_names_though_chats_share_name_and_prompt():
    """A Telegram and a WhatsApp "Lorenzo", with a system template without {contact}: told apart."""
    whatsapp = ChatInfo("Lorenzo", "personal_chat", ("Lorenzo",), SYSTEM["content"], 77, 1, 1, "whatsapp")
    index = ChatIndex("Pasquale", (LORENZO, whatsapp))
    samples = [
        conv(("user", "ciao"), ("assistant", "tg")),
        conv(("user", "ciao"), ("assistant", "wa"), chat="whatsapp:77"),
    ]
    items = items_of(samples, index, max_samples=10, seed=0)
    assert [(it["chat"], it["real"]) for it in items] == [("telegram:4001", "tg"), ("whatsapp:77", "wa")]
    with pytest.raises(
        ChatlikeError, match="names the chat 'discord:1', which data/chats.json does not list"
    ):
        items_of([conv(("assistant", "x"), chat="discord:1")], index, max_samples=10, seed=0)


def test_max_samples_keeps_a_seeded_subset_in_file_order():
    samples = [conv(("user", str(i)), ("assistant", f"r{i}")) for i in range(50)]
    a = items_of(samples, CHATS, max_samples=7, seed=3)
    assert a == items_of(samples, CHATS, max_samples=7, seed=3)
    reals = [int(it["real"][1:]) for it in a]
    assert len(reals) == 7 and reals == sorted(reals)


def test_regression_is_a_drop_of_the_primary_metric_beyond_tolerance():
    base = {"a": {"acc": 0.60, "acc_norm": 0.70}, "b": {"acc": 0.50}}
    tuned = {"a": {"acc": 0.65, "acc_norm": 0.65}, "b": {"acc": 0.49}}
    out = likelihood.regression(base, tuned, tolerance=0.02)
    assert out.tasks["a"].metric == "acc_norm" and out.tasks["a"].drop == pytest.approx(0.05)
    assert out.regressed == ["a"] and not out.ok
    assert likelihood.regression(base, tuned, tolerance=0.1).ok


def test_blind_test_shuffles_real_and_tuned_and_keeps_the_key_apart(tmp_path):
    samples = [{"context": [SYSTEM, {"role": "user", "name": "Lorenzo", "content": f"q{i}"}],
                "real": f"REAL{i}", "tuned": f"CLONE{i}", "base": ""} for i in range(30)]  # fmt: skip
    assert blind.write_blind_test(tmp_path, samples, pairs=10, seed=0) == 10
    text = RunDir(tmp_path).blind_test.read_text()
    key = json.loads(RunDir(tmp_path).blind_key.read_text())
    assert "REAL" in text and "CLONE" in text and '"real"' not in text
    sides = {k["real"] for k in key}
    assert sides == {"A", "B"}  # both orders occur
    for k, item in zip(key, text.split("\n## ")[1:]):
        a = item.split("**Reply A:**")[1].split("**Reply B:**")[0]
        assert ("REAL" in a) == (k["real"] == "A")


def test_results_json_is_read_back_as_it_was_written(tmp_path):
    results = make_results(12.5, sampled=True)
    write_results(tmp_path / "results.json", results)
    assert read_results(tmp_path / "results.json") == results
    assert json.loads((tmp_path / "results.json").read_text())["score"] == 12.5  # plain JSON, for jq too


@pytest.mark.parametrize(
    ("score", "why"),
    [("NaN", "JSON is malformed"), ("true", "Expected `float`, got `bool` - at `$.score`"),
     ("101", "Expected `float` <= 100.0 - at `$.score`"), ('"high"', "Expected `float`, got `str` - at `$.score`")],
)  # fmt: skip
def test_a_score_that_is_no_number_in_range_makes_results_unreadable_naming_the_field(tmp_path, score, why):
    path = tmp_path / "results.json"
    write_results(path, make_results())
    path.write_text(path.read_text().replace('"score": 9.0', f'"score": {score}'))
    with pytest.raises(ChatlikeError) as err:
        read_results(path)
    message = str(err.value)
    assert message.startswith(f"unreadable {path} ({why}") and message.endswith("run eval again")
    assert message.count("\n") == 0


def test_report_section_replaces_an_earlier_eval_section_and_keeps_the_rest(tmp_path):
    (tmp_path / "report.md").write_text("# data\n\nrows\n<!-- end of dataset section -->\n")
    report.write_section(tmp_path, make_results(11.1))
    report.write_section(tmp_path, make_results(22.2))
    text = (tmp_path / "report.md").read_text()
    assert text.startswith("# data\n\nrows\n<!-- end of dataset section -->")
    assert text.count(report.START) == 1 and "22.2" in text and "11.1" not in text


@pytest.mark.parametrize(
    ("versus", "verdict"),
    [("better", "beats the parrot on score, chrF, context gain**, and not on style distance"),
     ("tie", "beats the parrot on no headline metric")],
)  # fmt: skip
def test_report_says_plainly_whether_the_tuned_model_beats_the_parrot(versus, verdict):
    text = report.render(make_results(9.0, versus))
    assert verdict in text
    assert "| score (higher is better) | 9.0 |" in text and "parrot: median (range)" in text


def test_report_shows_the_replies_sampled_as_in_chat_beside_the_greedy_ones():
    text = report.render(make_results(9.0, sampled=True))
    assert "greedily, and as the chat stage samples them (temperature 0.7" in text
    assert "### Sampled as in chat" in text and "beats the parrot on no headline metric" in text


# ---- on the tiny model ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A prepared run with the tiny Llama and an untrained (random, non-zero) LoRA adapter: eval
    needs an adapter, not a good one, so training is skipped."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from chatlike.model import tiny

    run = tmp_path_factory.mktemp("evalrun")
    run_cli("experiment=smoke", f"hydra.run.dir={run}", "stages=[prepare]", check=True)
    model_dir = tiny.build(run)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(model, lora).save_pretrained(run / "train")
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(run / "train")
    return run


@pytest.fixture(scope="module")
def cfg():
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from chatlike.app import conf_dir
    from chatlike.config import register

    register()
    with initialize_config_dir(config_dir=str(conf_dir())):
        return OmegaConf.to_object(compose(config_name="config", overrides=["experiment=smoke"]))


def test_eval_on_a_run_dir_without_chats_json_is_one_line_saying_to_run_prepare(tmp_path, cfg):
    run = RunDir(tmp_path)  # prepared by a chatlike that wrote no data/chats.json
    for name in ("train", "test"):
        run.data.mkdir(exist_ok=True)
        run.split(name).write_text(json.dumps(conv(("user", "ciao"), ("assistant", "ehi"))) + "\n")
    with pytest.raises(ChatlikeError) as err:
        stage.run(cfg, tmp_path)
    assert str(run.chats) in str(err.value) and "stages=[prepare]" in str(err.value)
    assert "\n" not in str(err.value)


def fixed_head(model, favourite: int | None):
    """Replace the output layer by one with zero weights and a bias: the next-token distribution is
    then known exactly (uniform, or all on `favourite`)."""
    import torch

    vocab, hidden = model.lm_head.weight.shape
    head = torch.nn.Linear(hidden, vocab, bias=True)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    if favourite is not None:
        head.bias.data[favourite] = 30.0
    model.lm_head = head
    return model


@pytest.mark.slow
def test_generation_stops_at_the_end_of_turn_token(tiny_run, cfg):
    from chatlike.model import load

    template = load.load_template(cfg, tiny_run)
    tok = template.tokenizer
    assert template.stop_ids == (tok.convert_tokens_to_ids("<|eot_id|>"),) and tok.eos_token == "<|eot_id|>"
    model = fixed_head(load.load_model(cfg, tiny_run, adapter=False), tok.convert_tokens_to_ids("<|eot_id|>"))
    prompt = template.prompt([SYSTEM, {"role": "user", "content": "ciao"}])
    assert prompt.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")
    assert load.generate(model, template, [prompt, prompt + "x"], max_new_tokens=20) == ["", ""]


@pytest.mark.slow
def test_a_reply_that_runs_on_is_kept_as_generated_up_to_the_cap(tiny_run, cfg):
    from chatlike.model import load

    template = load.load_template(cfg, tiny_run)
    tok = template.tokenizer
    token = next(
        t for t, i in sorted(tok.get_vocab().items(), key=lambda x: x[1]) if t.isalpha() and len(t) > 2
    )
    model = fixed_head(load.load_model(cfg, tiny_run, adapter=False), tok.convert_tokens_to_ids(token))
    prompt = template.prompt([SYSTEM, {"role": "user", "content": "ciao"}])
    (reply,) = load.generate(model, template, [prompt], max_new_tokens=7)
    assert reply == tok.decode([tok.convert_tokens_to_ids(token)] * 7)


@pytest.mark.slow
def test_reply_likelihood_task_scores_a_uniform_model_at_perplexity_equal_to_the_vocabulary(tiny_run, cfg):
    from chatlike.model import load

    template = load.load_template(cfg, tiny_run)
    tok = template.tokenizer
    model = fixed_head(load.load_model(cfg, tiny_run, adapter=False), None)
    vocab = model.lm_head.out_features
    pairs = [(template.prompt([SYSTEM, {"role": "user", "content": "come va?"}]), "bene 😊"),
             (template.prompt([SYSTEM, {"role": "user", "content": "Привет"}]), "привет!\nкак дела?")]  # fmt: skip
    task_dir = likelihood.write_reply_task(
        RunDir(tiny_run).eval_tasks, tok, pairs, template.end_of_turn, shuffle=[1, 0]
    )
    manager = likelihood.task_manager([likelihood.SHIPPED_TASKS, task_dir], [likelihood.REPLY_TASK])
    found, logged = likelihood.evaluate(
        model, tok, [likelihood.REPLY_TASK], manager, None, 2, log=(likelihood.REPLY_TASK,)
    )
    scores = found[likelihood.REPLY_TASK]
    rows = [json.loads(line) for line in (task_dir / "chatlike_replies.jsonl").read_text().splitlines()]
    rows = [r for r in rows if not r["shuffled"]]
    assert scores["token_perplexity"] == pytest.approx(vocab, rel=1e-4)
    bits = sum(r["n_tokens"] for r in rows) * math.log2(vocab) / sum(r["n_bytes"] for r in rows)
    assert scores["bits_per_byte"] == pytest.approx(bits, rel=1e-4)
    assert rows[1]["n_bytes"] == len("привет!\nкак дела?".encode())
    # a model that ignores the context: the same bits per byte under the other item's context
    assert scores["shuffled_bits_per_byte"] == pytest.approx(scores["bits_per_byte"], rel=1e-6)
    loglik = likelihood.reply_logliks(logged[likelihood.REPLY_TASK])
    assert loglik["bytes"] == [r["n_bytes"] for r in rows] and len(loglik["shuffled"]) == 2
    gain = context.gain(loglik["true"], loglik["shuffled"], loglik["bytes"], seed=0)
    assert gain.value == pytest.approx(0, abs=1e-6)
    assert -gain.value * math.log(2) * sum(loglik["bytes"]) == pytest.approx(
        sum(loglik["shuffled"]) - sum(loglik["true"]), abs=1e-4
    )


@pytest.mark.slow
def test_the_reply_task_scores_each_reply_under_the_context_the_derangement_gives_it(tiny_run, cfg):
    from chatlike.model import load

    template = load.load_template(cfg, tiny_run)
    prompts = [template.prompt([SYSTEM, {"role": "user", "content": q}]) for q in ("a?", "b?", "c?")]
    pairs = list(zip(prompts, ["ra", "rb", "rc"]))
    shuffle = context.derangement(3, seed=5)
    task_dir = likelihood.write_reply_task(
        RunDir(tiny_run).eval_tasks, template.tokenizer, pairs, template.end_of_turn, shuffle
    )
    rows = [json.loads(line) for line in (task_dir / "chatlike_replies.jsonl").read_text().splitlines()]
    assert [(r["item"], r["shuffled"]) for r in rows] == [(i, s) for s in (False, True) for i in range(3)]
    for r in rows:
        own = prompts[shuffle[r["item"]]] if r["shuffled"] else prompts[r["item"]]
        assert r["context"] == own and r["target"].startswith(pairs[r["item"]][1])
        assert (r["context"] == prompts[r["item"]]) is not r["shuffled"]


@pytest.mark.slow
def test_token_count_matches_what_lm_eval_scores(tiny_run, cfg):
    from lm_eval.models.huggingface import HFLM

    from chatlike.model import load

    template = load.load_template(cfg, tiny_run)
    tok = template.tokenizer
    lm = HFLM(pretrained=load.load_model(cfg, tiny_run, adapter=False), tokenizer=tok)
    context = template.prompt([SYSTEM, {"role": "user", "content": "dove sei?"}])
    target = "a casa, tu? 🏠<|eot_id|>"
    _, continuation = lm._encode_pair(context, target)
    assert likelihood.scored_tokens(tok, context, target) == len(continuation)


@pytest.mark.slow
def test_shipped_multiple_choice_task_runs_offline_on_base_and_tuned(tiny_run, cfg):
    from chatlike.model import load

    tok = load.load_tokenizer(cfg, tiny_run)
    model = load.load_model(cfg, tiny_run, adapter=True)
    manager = likelihood.task_manager([likelihood.SHIPPED_TASKS], ["chatlike_mc"])
    tuned, _ = likelihood.evaluate(model, tok, ["chatlike_mc"], manager, 8, 4)
    with model.disable_adapter():
        base, _ = likelihood.evaluate(model, tok, ["chatlike_mc"], manager, 8, 4)
    for scores in (base, tuned):
        assert 0 <= scores["chatlike_mc"]["acc"] <= 1 and "acc_norm" in scores["chatlike_mc"]
    assert likelihood.regression(base, tuned, 0.02).tasks["chatlike_mc"].metric == "acc_norm"


@pytest.mark.slow
def test_unknown_regression_task_is_a_one_line_error(tiny_run):
    proc = run_cli("experiment=smoke", f"hydra.run.dir={tiny_run}", "stages=[eval]", "eval.tasks=[no_such_task]",
                   "eval.max_samples=2", "eval.max_new_tokens=2")  # fmt: skip
    assert proc.returncode == 1
    assert (
        proc.stderr.strip().splitlines()[-1].startswith("chatlike: error: eval.tasks: lm-eval knows no task")
    )


@pytest.mark.slow
def test_eval_stage_on_a_tiny_run_writes_results_samples_blind_test_and_report(tiny_run):
    args = ("experiment=smoke", f"hydra.run.dir={tiny_run}", "stages=[eval]", "eval.max_samples=6",
            "eval.max_new_tokens=8", "eval.blind_pairs=4")  # fmt: skip
    run_cli(*args, check=True)
    run = RunDir(tiny_run)
    greedy = json.loads(run.eval_results.read_text())
    assert greedy["generation"]["sampling"] == "greedy" and greedy["sampled"] is None
    # a rerun replaces the eval section; with fail_on_regression its exit code follows the verdict
    rerun = run_cli(*args, "eval.fail_on_regression=true", "eval.tolerance=0", "eval.sampling=chat")
    results = json.loads(run.eval_results.read_text())
    assert read_results(run.eval_results).score == results["score"]  # it reads back through its schema
    assert rerun.returncode == (0 if results["regression"]["ok"] else 1), rerun.stderr[-2000:]
    if not results["regression"]["ok"]:
        assert "regressed beyond eval.tolerance" in rerun.stderr.strip().splitlines()[-1]
    sets = {"real", "base", "tuned", "parrot"}
    assert set(results["style"]) == sets
    assert all("mean_chars" in s and "repeated_3gram_share" in s for s in results["style"].values())
    assert set(results["distance"]) == {"base", "tuned", "parrot"} and results["distance"]["tuned"] >= 0
    for name in ("base", "tuned"):
        assert results["lm_eval"]["replies"][name]["bits_per_byte"] > 0
        assert results["lm_eval"]["replies"][name]["shuffled_bits_per_byte"] > 0
        assert "chatlike_mc" in results["lm_eval"]["tasks"][name]
    assert "chatlike_mc" in results["regression"]["tasks"]
    # the greedy replies are the headline; the same seed gives the same replies, parrot and intervals
    for key in ("score", "scores", "chrf", "context_gain_bpb", "memorisation", "parrot", "versus_parrot"):
        assert results[key] == greedy[key], key

    # the parrot, chrF, context gain, memorisation and the score
    assert results["parrot"]["draws"] == 20
    assert all(set(results["parrot"][k]) == {"median", "low", "high"} for k in ("distance", "chrf", "score"))
    assert set(results["chrf"]) == {"base", "tuned", "parrot", "tuned_minus_parrot"}
    for interval in (*results["chrf"].values(), *results["context_gain_bpb"].values()):
        assert interval["low"] <= interval["value"] <= interval["high"]
    assert set(results["context_gain_bpb"]) == {"base", "tuned"}
    assert set(results["memorisation"]) == sets
    assert results["memorisation"]["parrot"]["copy_share"] == 1
    for m in results["memorisation"].values():
        assert {"copy_share", "long_copy_share", "longest_copied_ngram", "flagged"} <= set(m)
    assert results["score"] == results["scores"]["tuned"] >= 0
    assert results["clone"] == "sft"  # tuned is RUN/train's adapter: no feedback round here
    assert set(results["versus_parrot"]) == {"score", "distance", "chrf", "context_gain"}
    assert set(results["versus_parrot"].values()) <= {"better", "worse", "tie"}
    # with eval.sampling=chat, the replies sampled as chat samples them, judged the same way
    assert results["generation"]["chat"] == {
        "temperature": 0.7,
        "top_p": 0.9,
        "repetition_penalty": 1.1,
        "seed": 0,
    }
    assert set(results["sampled"]["scores"]) == {"base", "tuned", "parrot"}
    assert set(results["sampled"]["chrf"]) == {"base", "tuned", "parrot", "tuned_minus_parrot"}

    samples = [json.loads(line) for line in run.eval_samples.read_text().splitlines()]
    assert len(samples) == 6
    assert all(
        {"context", "real", "base", "tuned", "parrot", "base_chat", "tuned_chat"} <= set(s) for s in samples
    )
    assert samples[0]["context"][0]["role"] == "system"
    chats = {c["name"] for c in json.loads(run.chats.read_text())["chats"]}
    assert all(s["contact"] in chats for s in samples)
    assert len(json.loads(run.blind_key.read_text())) == 4
    assert run.blind_test.read_text().count("**Reply A:**") == 4
    text = run.report.read_text()
    assert text.count(report.START) == 1 and "<!-- end of dataset section -->" in text
    assert "![eval](plots/eval.png)" in text and run.eval_plot.stat().st_size > 1000
    assert f"tuned **{results['score']:.1f}**" in text and "The tuned model **beats the parrot on" in text
    for heading in (
        "**Context use**",
        "**Memorisation.**",
        "| chrF to the real reply",
        "### Sampled as in chat",
    ):
        assert heading in text
    assert "| metric | real | base | tuned | parrot |" in text
    assert "also occur verbatim in your training replies" in text
