using Pronto.Testing;

namespace Pronto.Batch.Tests;

[CollectionDefinition(Name)]
public sealed class BundledCollection : ICollectionFixture<BundledRepositoryFixture>
{
    public const string Name = "bundled repository";
}
