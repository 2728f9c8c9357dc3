// The adapter conformance suite on the discord adapter.
import { createDiscordDriver } from './drivers/discord.ts';
import { describeConformance } from './suite.ts';

describeConformance('discord', createDiscordDriver);
