/**
 * `QueryFunction`: the read side. A Lambda function behind a function URL with `AWS_IAM` auth, returning JSON
 * (`lambda/handlers/query.ts`). Callers sign their requests with SigV4 and need both `lambda:InvokeFunctionUrl`
 * and `lambda:InvokeFunction` on the function: function URLs created since October 2025 check both
 * (https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html). `grantInvokeUrl` grants exactly those.
 * It reads Keyspaces only: `cassandra:Select` on the tables it queries and on the system tables.
 */
import { CfnOutput, Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { PipelineFunction } from './functions';
import { grantKeyspacesSystemRead, type IKeyspacesTable } from './keyspaces';

export interface QueryFunctionProps {
  /** The tables the queries read. */
  readonly tables: readonly IKeyspacesTable[];
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: logs.RetentionDays;
}

export class QueryFunction extends Construct {
  readonly handler: PipelineFunction;
  readonly url: lambda.FunctionUrl;

  constructor(scope: Construct, id: string, props: QueryFunctionProps) {
    super(scope, id);
    if (props.tables.length === 0)
      throw new Error('QueryFunction tables is empty: name the tables it reads.');
    this.handler = new PipelineFunction(this, 'Handler', {
      entry: 'lambda/handlers/query.ts',
      description: 'Reads the pipeline results (IAM-authenticated function URL)',
      logRetention: props.logRetention,
      timeout: Duration.seconds(30),
      environment: props.environment,
    });
    for (const table of props.tables) table.grantReadData(this.handler.role);
    grantKeyspacesSystemRead(this, this.handler.role);
    this.url = this.handler.function.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
    new CfnOutput(this, 'Url', {
      value: this.url.url,
      description:
        'Query URL (SigV4-signed requests only; callers need lambda:InvokeFunctionUrl and lambda:InvokeFunction on QueryFunctionArn)',
    });
    new CfnOutput(this, 'FunctionArn', {
      value: this.handler.function.functionArn,
      description:
        'The query function, the resource of the callers lambda:InvokeFunctionUrl and lambda:InvokeFunction',
    });
  }

  /**
   * Lets `grantee` call the URL: `lambda:InvokeFunctionUrl` on the function for `AWS_IAM` URLs, and
   * `lambda:InvokeFunction` on it when invoked through a function URL (each with the condition key that says
   * so). New function URLs need both: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html
   */
  grantInvokeUrl(grantee: iam.IGrantable): iam.Grant {
    return this.url.grantInvokeUrl(grantee);
  }
}
