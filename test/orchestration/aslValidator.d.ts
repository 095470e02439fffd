/** asl-validator 4 ships no type declarations: the call the tests make, as its dist/src/validator.js defines it. */
declare module "asl-validator" {
    interface AslValidationError {
        "Error code": string;
        Message: string;
    }
    function validator(definition: unknown): { isValid: boolean; errors: AslValidationError[] };
    export = validator;
}
