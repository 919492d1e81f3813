using Pronto.Models.Fraud;

namespace Pronto.Models.Tests.Fraud;

/// <summary>Trains the default fraud model once per test class into a temporary directory.</summary>
public sealed class FraudModelFixture : IDisposable
{
    public FraudModelFixture()
    {
        Directory = Path.Combine(Path.GetTempPath(), "pronto-fraud-" + Guid.NewGuid().ToString("N"));
        Options = new FraudTrainingOptions();
        Report = FraudTrainer.Train(Options, Directory);
    }

    public string Directory { get; }

    public FraudTrainingOptions Options { get; }

    public FraudTrainingReport Report { get; }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless; never fail a test run over clean-up.
        }
    }
}
