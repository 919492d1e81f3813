using System.Globalization;
using System.Text;
using Pronto.Core.Configuration;
using Pronto.Core.Generation;
using Pronto.Models.Fraud;

namespace Pronto.Models.Generative;

/// <summary>How the demo chat model is trained: its size, steps, batch, learning rate, seed and held-out share.</summary>
public sealed record SupportChatOptions
{
    public int Layers { get; init; } = 3;
    public int Heads { get; init; } = 4;
    public int HeadDim { get; init; } = 32;
    public int MlpWidth { get; init; } = 512;
    public int ContextLength { get; init; } = 128;
    public int Merges { get; init; } = 400;
    public int Steps { get; init; } = 1500;
    public int BatchSize { get; init; } = 16;
    public float LearningRate { get; init; } = 3e-3f;
    public ulong Seed { get; init; } = 42;
    public int HeldOut { get; init; } = 172;

    /// <summary>Held-out tickets whose greedy reply is checked (all of them unless fewer are asked).</summary>
    public int? Evaluate { get; init; }
}

/// <summary>What training measured: losses, tokens, and the held-out tickets answered word for word.</summary>
public sealed record SupportChatReport(long Parameters, int VocabSize, int TrainingTickets, long TrainedTokens, double FirstLoss, double FinalLoss, double HeldOutLoss, int Evaluated, int ExactReplies, string ExampleTicket, string ExampleReply);

/// <summary>
/// <c>support-chat</c>: a small chat model Pronto trains itself (no download) on <see cref="SupportReplies"/>, in
/// Hugging Face Optimum's decoder layout with a ChatML template, so it serves on every generative route. Prepared on
/// demand (<c>pronto models prepare support-chat</c>), not at every serve start.
/// </summary>
public static class SupportChatModel
{
    public const string Name = "support-chat";
    public const string EndOfText = "<|endoftext|>";
    public const string ImStart = "<|im_start|>";
    public const string ImEnd = "<|im_end|>";

    /// <summary>The tokens a reply may take (generation_config.json's max_new_tokens; the longest reply is ~40).</summary>
    public const int MaxNewTokens = 64;

    /// <summary>Prefix of the model card's held-out line; tests and tooling read the figures after it.</summary>
    public const string ExactLinePrefix = "Held-out tickets answered word for word: ";

    /// <summary>The prompt the server renders for one ticket (ChatML, one user message).</summary>
    public static string Prompt(string ticket) => ChatTemplate.ChatMl.Render(Name, [new ChatMessage("user", ticket)]);

    /// <summary>Trains the model into <paramref name="directory"/> (config.pbtxt, MODEL_CARD.md, 1/). Deterministic for given options.</summary>
    public static SupportChatReport Build(string directory, SupportChatOptions options, Action<string>? progress = null)
    {
        var version = Path.Combine(directory, "1");
        Directory.CreateDirectory(version);

        // Hold out whole tickets: a fixed shuffle of all 1,728, the first HeldOut kept aside.
        var all = SupportReplies.All().ToList();
        var random = new SplitMix64(options.Seed);
        for (var i = all.Count - 1; i > 0; i--)
        {
            var j = random.NextInt(0, i + 1);
            (all[i], all[j]) = (all[j], all[i]);
        }

        var heldOut = all[..options.HeldOut];
        var training = all[options.HeldOut..];

        var bpe = ByteLevelBpe.Train(training.SelectMany(e => new[] { Prompt(e.Ticket), e.Reply }), options.Merges, [EndOfText, ImStart, ImEnd]);
        bpe.Write(version, EndOfText, ImEnd, options.ContextLength);
        var tokenizer = GenerativeTokenizer.Load(Path.Combine(version, "tokenizer.json"));
        var imEnd = bpe.SpecialId(ImEnd);
        TrainingSequence Sequence(SupportReplies.Example e)
        {
            var prompt = tokenizer.Encode(Prompt(e.Ticket));
            return new TrainingSequence([.. prompt, .. tokenizer.Encode(e.Reply), imEnd], prompt.Length);
        }

        var trainSet = training.Select(Sequence).ToList();
        var heldSet = heldOut.Select(Sequence).ToList();
        var dims = new DecoderDims(bpe.VocabSize, options.Layers, options.Heads, options.HeadDim, options.ContextLength, options.MlpWidth, LayerNorm: true);
        var trainer = new DecoderTrainer(DecoderTrainer.Initialize(dims, options.Seed));
        progress?.Invoke($"training {trainer.Weights.Parameters:N0} parameters on {trainSet.Count:N0} tickets, {options.Steps:N0} steps of {options.BatchSize}");

        // Warm-up for the first 5 % of steps, then cosine decay to a tenth.
        double first = 0, recent = 0;
        long tokens = 0;
        var warmup = Math.Max(1, options.Steps / 20);
        for (var step = 0; step < options.Steps; step++)
        {
            var batch = new TrainingSequence[options.BatchSize];
            for (var k = 0; k < batch.Length; k++)
            {
                batch[k] = trainSet[random.NextInt(0, trainSet.Count)];
                tokens += batch[k].Tokens.Length - 1;
            }

            var progressShare = (double)Math.Max(0, step - warmup) / Math.Max(1, options.Steps - warmup);
            var rate = step < warmup
                ? options.LearningRate * (step + 1) / warmup
                : options.LearningRate * (float)(0.1 + (0.45 * (1 + Math.Cos(Math.PI * progressShare))));
            var loss = trainer.Step(batch, rate);
            first = step == 0 ? loss : first;
            recent = step == 0 ? loss : (0.95 * recent) + (0.05 * loss);
            if (progress is not null && (step + 1) % 250 == 0)
            {
                progress($"step {step + 1:N0}/{options.Steps:N0}: loss {recent:F3}");
            }
        }

        var heldLoss = trainer.Loss(heldSet);
        var evaluated = Math.Min(options.Evaluate ?? heldOut.Count, heldOut.Count);
        var exact = 0;
        var replies = new List<string>();
        for (var i = 0; i < Math.Max(1, evaluated); i++)
        {
            var prompt = heldSet[i].Tokens[..heldSet[i].LossFrom];
            replies.Add(tokenizer.Decode(Greedy(trainer, prompt, imEnd, MaxNewTokens)));
            exact += i < evaluated && replies[i] == heldOut[i].Reply ? 1 : 0;
        }

        var report = new SupportChatReport(trainer.Weights.Parameters, bpe.VocabSize, trainSet.Count, tokens, first, trainer.Loss(trainSet.Take(256).ToList()), heldLoss, evaluated, exact, heldOut[0].Ticket, replies[0]);
        trainer.Weights.WriteOnnx(Path.Combine(version, "model.onnx"), "pronto-support-chat");
        File.WriteAllText(Path.Combine(version, "generation_config.json"), $$"""
            { "do_sample": false, "max_new_tokens": {{MaxNewTokens}}, "eos_token_id": {{imEnd}}, "bos_token_id": {{bpe.SpecialId(EndOfText)}} }
            """);
        // Two decode loops of one thread each (instance_group, intra_op_thread_count): a step of 0.78 M parameters is
        // too small for two threads to share, so each core runs a loop of its own (docs/generative.md, "Benchmark").
        var config = new ModelConfig { Name = Name, Platform = ModelConfig.OnnxPlatform, InstanceGroups = [new InstanceGroup(2)] };
        config.Parameters[Pronto.Onnx.OnnxBackend.IntraOpThreadCountKey] = "1";
        config.Parameters["pronto.generative"] = "true";
        config.Parameters["pronto.generative.context_length"] = options.ContextLength.ToString(CultureInfo.InvariantCulture);
        File.WriteAllText(Path.Combine(directory, "config.pbtxt"), ModelConfigText.Format(config));
        File.WriteAllText(Path.Combine(directory, "MODEL_CARD.md"), Card(options, dims, report));
        return report;
    }

    /// <summary>The trainer's own greedy reply tokens for <paramref name="prompt"/>: up to the end token (left out), <paramref name="maxTokens"/> at most.</summary>
    public static List<int> Greedy(DecoderTrainer trainer, int[] prompt, int endToken, int maxTokens)
    {
        var tokens = new List<int>(prompt);
        var reply = new List<int>();
        var vocab = trainer.Weights.Dims.Vocab;
        while (reply.Count < maxTokens && tokens.Count < trainer.Weights.Dims.ContextLength)
        {
            var logits = trainer.Logits([.. tokens]).AsSpan((tokens.Count - 1) * vocab, vocab);
            var next = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(logits);
            if (next == endToken)
            {
                break;
            }

            tokens.Add(next);
            reply.Add(next);
        }

        return reply;
    }

    private static string Card(SupportChatOptions o, DecoderDims d, SupportChatReport r)
    {
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        void Line(string text = "") => md.Append(text).Append('\n');
        void Fmt(FormattableString text) => Line(text.ToString(c));
        Line("# Model card: Pronto support-chat demo model");
        Line();
        Line("## What it is");
        Line();
        Line("A very small decoder-only transformer that Pronto trains itself, on this machine, from data it generates: it");
        Line("answers a one-line card-and-payments support ticket (\"my card was declined at an ATM\") with a templated reply");
        Line("(\"I am sorry about the decline. Our card team will check your card within one day. Please keep the ATM slip.\"). It exists so that");
        Line("Pronto's generative routes (OpenAI chat and completions, Triton generate, `pronto generate`, `pronto_generate`,");
        Line("generative batch jobs) have a real model to serve out of the box, with no download.");
        Line();
        Line("## What it is not");
        Line();
        Line("Not a language model in the everyday sense: it knows 12 subjects, 12 problems and 12 details and nothing else.");
        Line("Anything outside that ticket grammar gets a confident reply that makes no sense. Its replies are not advice and");
        Line("it must not answer real customers.");
        Line();
        Line("## Data");
        Line();
        Line("Every ticket `pronto sample minilm` can write: subject x problem x detail = 1,728 tickets; the reply is an");
        Line("acknowledgement chosen by the problem, the action of the subject's team and a closing line for the detail.");
        Fmt($"A fixed shuffle (seed {o.Seed}) keeps {o.HeldOut} whole tickets aside; the model trains on the other {r.TrainingTickets:N0}.");
        Line();
        Line("## Model");
        Line();
        Fmt($"- {d.Layers} layers, {d.Heads} heads of {d.HeadDim} (hidden {d.Hidden}), ReLU MLP {d.MlpWidth}, pre-layer norms,");
        Fmt($"  learned positions up to {d.ContextLength}; {r.Parameters:N0} parameters.");
        Fmt($"- Tokenizer: byte-level BPE, {o.Merges} merges at most learned from the training tickets, vocabulary {r.VocabSize};");
        Line("  ChatML chat template (`<|im_start|>user ... <|im_end|>`), replies end with `<|im_end|>`.");
        Line("- File: `1/model.onnx` in Hugging Face Optimum's decoder layout (past_key_values in, present out); greedy by");
        Line("  default (`1/generation_config.json`).");
        Line();
        Line("## Training");
        Line();
        Fmt($"Next-token cross-entropy on the reply tokens, Adam (0.9, 0.95), learning rate {o.LearningRate} with 5 % warm-up and");
        Fmt($"cosine decay to a tenth, gradient norm clipped at 1, {o.Steps:N0} steps of {o.BatchSize} tickets ({r.TrainedTokens:N0} tokens), seed {o.Seed}.");
        Line("Pronto's own trainer (Pronto.Models, Generative/DecoderTrainer.cs) computes the gradients; the tests check them");
        Line("against finite differences and the ONNX graph against the trainer's logits.");
        Line();
        Line("## Measured");
        Line();
        Fmt($"- Loss: {r.FirstLoss:F3} at the first step, {r.FinalLoss:F5} on training tickets at the end, {r.HeldOutLoss:F5} on held-out tickets.");
        Fmt($"- {ExactLinePrefix}{r.ExactReplies} of {r.Evaluated} (greedy, compared with the template's reply).");
        Fmt($"- First held-out ticket: \"{r.ExampleTicket}\" -> \"{r.ExampleReply}\"");
        return md.ToString();
    }
}
