namespace Pronto.Models.Fraud;

/// <summary>
/// Merchant category codes used by the <c>merchant_category</c> feature (sent to the model as a float).
/// The codes are part of the model contract: never renumber, only append.
/// </summary>
public enum MerchantCategory
{
    /// <summary>Supermarkets and grocery stores: frequent, low risk.</summary>
    Grocery = 0,

    /// <summary>Fuel stations: frequent, low risk.</summary>
    Fuel = 1,

    /// <summary>Restaurants, cafes, bars: frequent, low risk.</summary>
    Restaurants = 2,

    /// <summary>General online retail (card not present).</summary>
    OnlineRetail = 3,

    /// <summary>Consumer electronics: high tickets, easy to resell, risky.</summary>
    Electronics = 4,

    /// <summary>Airlines, hotels, travel agencies: high tickets, often far from home.</summary>
    Travel = 5,

    /// <summary>Online gambling and betting: risky.</summary>
    Gambling = 6,

    /// <summary>Crypto exchanges, gift cards, money transfer: the riskiest (cash-out channels).</summary>
    CryptoGiftCards = 7,
}
