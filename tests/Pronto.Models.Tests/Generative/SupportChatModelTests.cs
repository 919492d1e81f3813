using Pronto.Core.Generation;
using Pronto.Core.Repository;
using Pronto.Models.Generative;
using Pronto.Onnx;

namespace Pronto.Models.Tests.Generative;

/// <summary>The demo chat model: its data, and a short training run served by Pronto's own generation engine.</summary>
public sealed class SupportChatModelTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pronto-support-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Every_ticket_has_one_reply_made_of_its_problem_subject_and_detail()
    {
        var all = SupportReplies.All();
        Assert.Equal(1728, all.Count);
        Assert.Equal(1728, all.Select(e => e.Ticket).Distinct().Count());
        var atm = Assert.Single(all, e => e.Ticket == "my card was declined at an ATM");
        Assert.Equal("I am sorry about the decline. Our card team will check your card within one day. Please keep the ATM slip.", atm.Reply);
    }

    [Fact]
    public async Task A_short_training_run_writes_a_served_chat_model_whose_engine_replies_as_the_trainer_does()
    {
        var options = new SupportChatOptions { Layers = 1, Heads = 2, HeadDim = 8, MlpWidth = 32, Merges = 120, Steps = 60, BatchSize = 8, LearningRate = 1e-2f, Evaluate = 2 };
        var folder = Path.Combine(_root, SupportChatModel.Name);
        var report = SupportChatModel.Build(folder, options);

        Assert.Equal(256 + 120 + 3, report.VocabSize);
        Assert.Equal(1728 - options.HeldOut, report.TrainingTickets);
        Assert.True(report.FinalLoss < report.FirstLoss / 2, $"loss {report.FirstLoss} -> {report.FinalLoss}");
        Assert.Equal(2, report.Evaluated);
        var card = File.ReadAllText(Path.Combine(folder, "MODEL_CARD.md"));
        Assert.Contains($"{SupportChatModel.ExactLinePrefix}{report.ExactReplies} of 2 ", card, StringComparison.Ordinal);
        Assert.Contains($"\"{report.ExampleTicket}\" -> \"{report.ExampleReply}\"", card, StringComparison.Ordinal);

        // Served: the repository loads it as a generative model with a ChatML template, greedy by default, and the
        // engine's reply to the first held-out ticket is the trainer's own greedy reply.
        using var repository = new ModelRepository(_root, [new OnnxBackend()]);
        repository.Load(SupportChatModel.Name);
        using var lease = repository.Acquire(SupportChatModel.Name);
        var model = Assert.IsType<GenerativeModel>(lease.Model.Generative);
        Assert.Null(model.ChatTemplate.Unsupported);
        Assert.Equal(2, model.Engines.Count);
        Assert.Equal("1", lease.Model.Config.Parameters[OnnxBackend.IntraOpThreadCountKey]);
        var prompt = model.Tokenizer.Encode(model.ChatTemplate.Render(SupportChatModel.Name, [new ChatMessage("user", report.ExampleTicket)]));
        var sampling = new SamplingParameters { Temperature = 0, MaxTokens = model.MaxTokensFor(prompt.Length, null, model.Defaults.MaxNewTokens) };
        Assert.Equal(SupportChatModel.MaxNewTokens, model.Defaults.MaxNewTokens);
        var reply = await model.CompleteAsync(prompt, sampling, CancellationToken.None);
        Assert.Equal(report.ExampleReply, reply);
    }
}
