using Pronto.Testing;

namespace Pronto.Cli.Tests;

[CollectionDefinition(Name)]
public sealed class BundledCollection : ICollectionFixture<BundledRepositoryFixture>
{
    public const string Name = "bundled repository";
}
