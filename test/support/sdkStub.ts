/**
 * For SDK v3 clients stubbed at the `send` boundary: a command is recorded by its class name
 * (`SubmitJobCommand`) and its input, which is what the functions under test decide.
 */

/** One command a stubbed client received; read `input` as the command's input type (`SubmitJobCommandInput`). */
export interface SentCommand {
    readonly command: string;
    readonly input: object;
}

/** The class name and input of an SDK v3 command (`new SubmitJobCommand(input)`). */
export function describeCommand(command: unknown): SentCommand {
    const { constructor, input } = command as { constructor: { name: string }; input: object };
    return { command: constructor.name, input };
}
