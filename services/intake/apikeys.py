"""Issue an API key: `python -m services.intake.apikeys NAME ROLE [--customer ID]`."""

import argparse
import asyncio

from services.intake.auth import ApiKeys
from services.intake.settings import IntakeSettings
from shared.mongo import Collections, create_client
from shared.vocabulary import Role


async def issue_key(
    settings: IntakeSettings, name: str, role: Role, customer_id: str | None
) -> str:
    client = create_client(settings)
    try:
        keys = ApiKeys(client[settings.mongo_database][Collections.API_KEYS])
        return await keys.issue(name, role, customer_id)
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Issue an API key; it is printed once.")
    parser.add_argument("name", help="who holds the key, e.g. crm or agent-desk")
    parser.add_argument("role", choices=[r.value for r in Role])
    parser.add_argument("--customer", help="the customer a customer key belongs to")
    args = parser.parse_args()
    key = asyncio.run(issue_key(IntakeSettings(), args.name, Role(args.role), args.customer))
    print(key)


if __name__ == "__main__":
    main()
